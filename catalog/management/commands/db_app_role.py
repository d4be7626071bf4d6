"""Create (or update) the database role the running app connects as, and grant it its rights.

Run by the table owner after `migrate` (docker-compose.yml's one-shot
`migrate` service). The role may read and write every table except the audit
log, where it may only INSERT and SELECT: neither the app nor anyone holding
its credentials can rewrite, delete or empty the audit chain, nor disable its
triggers (only the owner can alter the table).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import connection
from psycopg import sql

from catalog.models import AuditEvent
from core.commands import ReelvaultCommand


class Command(ReelvaultCommand):
    help = (
        "Create or update the app's database role: all tables, but only INSERT and SELECT on the audit log."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default=os.environ.get("REELVAULT_APP_DB_ROLE", ""))
        parser.add_argument(
            "--password-env",
            default="REELVAULT_APP_DB_PASSWORD",
            help="Environment variable holding the role's password (not on the command line).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        if not role:
            raise CommandError("name the role: --role NAME or REELVAULT_APP_DB_ROLE")
        password = os.environ.get(options["password_env"], "")
        audit = AuditEvent._meta.db_table
        name = sql.Identifier(role)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            verb = sql.SQL("ALTER") if cursor.fetchone() else sql.SQL("CREATE")
            statement = sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(verb, name)
            if password:
                statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            statements = [
                statement,
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(connection.settings_dict["NAME"]), name
                ),
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
                    name
                ),
                sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {} FROM {}").format(
                    sql.Identifier(audit), name
                ),
            ]
            for each in statements:
                cursor.execute(each.as_string(cursor.connection))
        self.stdout.write(f"role {role}: every table, but only INSERT and SELECT on {audit}")
