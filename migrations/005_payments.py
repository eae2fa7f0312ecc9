"""Peewee migrations -- 005_payments.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    pass


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class CreditPackage(pw.Model):
        id = pw.AutoField()
        slug = pw.CharField(max_length=40, unique=True)
        name = pw.CharField(max_length=80)
        amount_credits = pw.BigIntegerField()
        price_cents = pw.IntegerField()
        currency = pw.CharField(default='usd', max_length=3)
        active = pw.BooleanField(default=True)
        sort_order = pw.IntegerField(default=0)
        stripe_product_id = pw.CharField(max_length=100, null=True)
        stripe_price_id = pw.CharField(max_length=100, null=True)
        stripe_price_spec = pw.CharField(max_length=40, null=True)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "credit_packages"

    @migrator.create_model
    class LowBalanceAlert(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE', unique=True)
        threshold_credits = pw.BigIntegerField(default=0)
        notified_at = pw.DateTimeField(null=True)
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "low_balance_alerts"

    @migrator.create_model
    class Payment(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        package_slug = pw.CharField(max_length=40)
        package_name = pw.CharField(max_length=80)
        amount_cents = pw.IntegerField()
        currency = pw.CharField(max_length=3)
        amount_credits = pw.BigIntegerField()
        status = pw.CharField(default='pending', index=True, max_length=24)
        stripe_session_id = pw.CharField(max_length=255, unique=True)
        stripe_payment_intent_id = pw.CharField(index=True, max_length=255, null=True)
        stripe_charge_id = pw.CharField(index=True, max_length=255, null=True)
        receipt_url = pw.TextField(null=True)
        ledger_entry_id = pw.BigIntegerField(null=True)
        reversed_credits = pw.BigIntegerField(default=0)
        shortfall_credits = pw.BigIntegerField(default=0)
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField()
        credited_at = pw.DateTimeField(null=True)
        disputed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "payments"

    @migrator.create_model
    class PaymentFlag(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        payment = pw.ForeignKeyField(column_name='payment_id', field='id', model=migrator.orm['payments'], on_delete='CASCADE')
        kind = pw.CharField(max_length=24)
        reference = pw.CharField(max_length=255)
        shortfall_credits = pw.BigIntegerField(default=0)
        details = pw.TextField(default='')
        created_at = pw.DateTimeField(index=True)
        resolved_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "payment_flags"
            indexes = [(('kind', 'reference'), True)]

    @migrator.create_model
    class PaymentReversal(pw.Model):
        id = pw.AutoField()
        payment = pw.ForeignKeyField(column_name='payment_id', field='id', model=migrator.orm['payments'], on_delete='CASCADE')
        kind = pw.CharField(max_length=16)
        stripe_id = pw.CharField(max_length=255, unique=True)
        amount_cents = pw.IntegerField()
        reversed_credits = pw.BigIntegerField()
        debited_credits = pw.BigIntegerField()
        shortfall_credits = pw.BigIntegerField(default=0)
        ledger_entry_id = pw.BigIntegerField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "payment_reversals"

    @migrator.create_model
    class ReconciliationRun(pw.Model):
        id = pw.AutoField()
        trigger = pw.CharField(max_length=16)
        lookback_hours = pw.IntegerField()
        started_at = pw.DateTimeField(index=True)
        finished_at = pw.DateTimeField(null=True)
        status = pw.CharField(default='running', max_length=16)
        sessions_seen = pw.IntegerField(default=0)
        fixed = pw.IntegerField(default=0)
        expired = pw.IntegerField(default=0)
        mismatches = pw.TextField(default='[]')
        error = pw.TextField(default='')

        class Meta:
            table_name = "reconciliation_runs"

    @migrator.create_model
    class StripeEvent(pw.Model):
        id = pw.AutoField()
        event_id = pw.CharField(max_length=255, unique=True)
        type = pw.CharField(max_length=80)
        received_at = pw.DateTimeField()
        outcome = pw.CharField(default='', max_length=120)

        class Meta:
            table_name = "stripe_events"

    # The default credit packages (1 credit = US$0.00001); operators edit them afterwards.
    migrator.sql(
        "INSERT INTO credit_packages (slug, name, amount_credits, price_cents, currency, active, "
        "sort_order, updated_at) VALUES "
        "('starter', 'Starter', 500000, 500, 'usd', TRUE, 0, CURRENT_TIMESTAMP), "
        "('pro', 'Pro', 2100000, 2000, 'usd', TRUE, 1, CURRENT_TIMESTAMP), "
        "('business', 'Business', 11000000, 10000, 'usd', TRUE, 2, CURRENT_TIMESTAMP)"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model('stripe_events')

    migrator.remove_model('reconciliation_runs')

    migrator.remove_model('payment_reversals')

    migrator.remove_model('payment_flags')

    migrator.remove_model('payments')

    migrator.remove_model('low_balance_alerts')

    migrator.remove_model('credit_packages')
