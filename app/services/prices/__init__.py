"""The pricing service: the price history (`history`), the offered models with their current
prices (`catalog`), and the holds and charges computed from them (`pricing`)."""
