from django.db import migrations


class Migration(migrations.Migration):
    """The purge of anonymous visitors' data (``web.tasks.purge``) walks the anonymous cards
    every few minutes; they are few among all cards, and this partial index finds them without
    reading the others. Only the purge's queries use it, so it is a database detail kept out of
    the model state (``Contact.Meta``)."""

    dependencies = [
        ("saleor_journeys", "0006_web"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX sj_contact_anonymous ON saleor_journeys_contact (id) "
                "WHERE kind = 'anonymous'"
            ),
            reverse_sql="DROP INDEX sj_contact_anonymous",
        ),
    ]
