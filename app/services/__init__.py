"""Domain services: the business logic, taking plain values (never the Flask request)."""
