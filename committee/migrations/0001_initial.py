import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


MODELS = ("need", "needupdate")


def _relabel(apps, old, new):
    # Admin permissions and log entries point at the content type; renaming it
    # keeps them, where a new one would orphan them.
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def move_content_types(apps, schema_editor):
    _relabel(apps, "surveys", "committee")


def move_content_types_back(apps, schema_editor):
    _relabel(apps, "committee", "surveys")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('events', '0004_lifecycle_published_at_changed_by'),
        ('surveys', '0003_needs_move_to_committee'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    # State only: the tables surveys/0002 created (surveys_need,
    # surveys_needupdate) are kept as they are (Meta.db_table), so no row moves.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.CreateModel(
            name='Need',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=200, verbose_name='件名')),
                ('text', models.TextField(verbose_name='内容')),
                ('source', models.CharField(choices=[('registration', '情報交換会の事前質問'), ('answer', 'アンケートの自由記述'), ('topic', '掲示板の相談'), ('manual', '手入力')], default='manual', max_length=20, verbose_name='出どころ')),
                ('source_reference', models.CharField(blank=True, max_length=300, verbose_name='出どころの参照')),
                ('fiscal_year', models.PositiveSmallIntegerField(db_index=True, verbose_name='年度')),
                ('function', models.PositiveSmallIntegerField(blank=True, choices=[(1, '1 情報共有ネットワーク構築'), (2, '2 ニーズ把握'), (3, '3 論点整理・政策提言'), (4, '4 人材育成'), (5, '5 支援者向けスーパーバイズ'), (6, '6 ノウハウ提供'), (7, '7 社会資源の開拓')], db_index=True, null=True, verbose_name='機能')),
                ('status', models.CharField(choices=[('new', '新規'), ('sorting', '整理中'), ('in_progress', '対応中'), ('proposed', '提言済'), ('resolved', '解決'), ('closed', '終了')], db_index=True, default='new', max_length=12, verbose_name='状態')),
                ('due_date', models.DateField(blank=True, null=True, verbose_name='期限')),
                ('notes', models.TextField(blank=True, verbose_name='メモ')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='登録日時')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='更新日時')),
                ('event', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='needs', to='events.event', verbose_name='関連イベント')),
                ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_needs', to=settings.AUTH_USER_MODEL, verbose_name='担当者')),
                ('raised_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='raised_needs', to=settings.AUTH_USER_MODEL, verbose_name='登録者')),
                ('source_answer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='needs', to='surveys.answer', verbose_name='アンケートの回答')),
                ('source_registration', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='needs', to='events.registration', verbose_name='事前質問の申込')),
            ],
            options={
                'verbose_name': '課題',
                'verbose_name_plural': '課題',
                'db_table': 'surveys_need',
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='NeedUpdate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_status', models.CharField(blank=True, max_length=12, verbose_name='変更前の状態')),
                ('new_status', models.CharField(blank=True, max_length=12, verbose_name='変更後の状態')),
                ('function', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='機能')),
                ('note', models.TextField(blank=True, verbose_name='メモ')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='日時')),
                ('author', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='記入者')),
                ('need', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='updates', to='committee.need', verbose_name='課題')),
            ],
            options={
                'verbose_name': '課題の経過',
                'verbose_name_plural': '課題の経過',
                'db_table': 'surveys_needupdate',
                'ordering': ['created_at', 'pk'],
            },
        ),
        migrations.AddConstraint(
            model_name='need',
            constraint=models.UniqueConstraint(condition=models.Q(('source_registration__isnull', False)), fields=('source_registration',), name='need_one_per_registration'),
        ),
        migrations.AddConstraint(
            model_name='need',
            constraint=models.UniqueConstraint(condition=models.Q(('source_answer__isnull', False)), fields=('source_answer',), name='need_one_per_answer'),
        ),
    ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
