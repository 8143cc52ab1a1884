import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0005_alter_survey_kind"),
    ]

    operations = [
        migrations.AddField(
            model_name="question",
            name="updated_at",
            field=models.DateTimeField(
                auto_now=True, default=django.utils.timezone.now, verbose_name="更新日時"
            ),
            preserve_default=False,
        ),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(
                fields=["survey", "responded_at"], name="invitation_survey_responded"
            ),
        ),
    ]
