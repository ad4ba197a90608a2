"""Indexes for the call log admin's filters and exact searches (each ending in created_at).

On PostgreSQL they are built CONCURRENTLY: a log of millions of rows keeps taking inserts while
they are built (expect minutes on a large table). The single-column indexes on function and
error_code are dropped after: the new ones lead with those columns.
"""

from django.db import migrations, models


class AddIndexWithoutLocking(migrations.AddIndex):
    """AddIndex, CONCURRENTLY on PostgreSQL (which needs a non-atomic migration)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("graphfns", "0001_initial"),
    ]

    operations = [
        AddIndexWithoutLocking(
            model_name="functioncall",
            index=models.Index(fields=["function", "created_at"], name="graphfns_call_function_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="functioncall",
            index=models.Index(fields=["error_code", "created_at"], name="graphfns_call_error_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="functioncall",
            index=models.Index(fields=["mode", "created_at"], name="graphfns_call_mode_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="functioncall",
            index=models.Index(fields=["caller", "created_at"], name="graphfns_call_caller_idx"),
        ),
        AddIndexWithoutLocking(
            model_name="functioncall",
            index=models.Index(fields=["request_id"], name="graphfns_call_request_id_idx"),
        ),
        migrations.AlterField(
            model_name="functioncall",
            name="error_code",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AlterField(
            model_name="functioncall",
            name="function",
            field=models.CharField(max_length=100),
        ),
    ]
