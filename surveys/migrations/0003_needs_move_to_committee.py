from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0002_need_needupdate_need_need_one_per_registration_and_more"),
    ]

    # The needs register moved to the committee app (committee/0001). Only
    # Django's record of the models moves: the tables keep their names and rows.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="needupdate",
                    name="need",
                ),
                migrations.RemoveField(
                    model_name="needupdate",
                    name="author",
                ),
                migrations.DeleteModel(
                    name="Need",
                ),
                migrations.DeleteModel(
                    name="NeedUpdate",
                ),
            ],
            database_operations=[],
        ),
    ]
