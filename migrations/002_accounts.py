"""Peewee migrations -- 002_accounts.py.

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

    migrator.add_fields(
        'users',

        auth_version=pw.IntegerField(default=0),
        totp_secret=pw.CharField(max_length=255, null=True),
        totp_enabled_at=pw.DateTimeField(null=True),
        totp_last_step=pw.BigIntegerField(null=True))

    @migrator.create_model
    class ApiKey(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        name = pw.CharField(max_length=100)
        prefix = pw.CharField(max_length=16, unique=True)
        secret_hash = pw.CharField(max_length=64)
        previous_secret_hash = pw.CharField(max_length=64, null=True)
        previous_valid_until = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)
        expires_at = pw.DateTimeField(null=True)
        allowed_models = pw.TextField(null=True)
        cap_total_credits = pw.BigIntegerField(null=True)
        cap_monthly_credits = pw.BigIntegerField(null=True)
        spent_total_credits = pw.BigIntegerField(default=0)
        spent_month_credits = pw.BigIntegerField(default=0)
        spent_month = pw.CharField(default='', max_length=7)

        class Meta:
            table_name = "api_keys"

    @migrator.create_model
    class EmailCode(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        code_hash = pw.CharField(max_length=64)
        expires_at = pw.DateTimeField()
        attempts = pw.IntegerField(default=0)
        consumed_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "email_codes"

    @migrator.create_model
    class OAuthIdentity(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        provider = pw.CharField(max_length=32)
        subject = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "oauth_identities"
            indexes = [(('provider', 'subject'), True)]

    @migrator.create_model
    class PasswordResetToken(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "password_reset_tokens"

    @migrator.create_model
    class RecoveryCode(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        code_hash = pw.CharField(max_length=64)
        used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "recovery_codes"

    @migrator.create_model
    class RefreshToken(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        family = pw.CharField(index=True, max_length=32)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "refresh_tokens"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_fields('users', 'auth_version', 'totp_secret', 'totp_enabled_at', 'totp_last_step')

    migrator.remove_model('refresh_tokens')

    migrator.remove_model('recovery_codes')

    migrator.remove_model('password_reset_tokens')

    migrator.remove_model('oauth_identities')

    migrator.remove_model('email_codes')

    migrator.remove_model('api_keys')
