from django.db import migrations, models

# The append-only function as 0002 now defines it, for databases that applied an earlier 0002:
# TRUNCATE stays refused except on a connection that opted in with fmis.allow_truncate=on (the test
# runner empties every table between transactional tests; settings.py sets it only when testing).
# UPDATE and DELETE are always refused.
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION platform_audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' AND current_setting('fmis.allow_truncate', true) = 'on' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

class Migration(migrations.Migration):

    dependencies = [
        ('platform', '0002_audit_append_only'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditrecord',
            options={'ordering': ['-id'], 'verbose_name': '审计日志'},
        ),
        migrations.AlterModelOptions(
            name='outboxmessage',
            options={'ordering': ['id'], 'verbose_name': '发件箱消息'},
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='下次尝试时间'),
        ),
        migrations.AddIndex(
            model_name='auditrecord',
            index=models.Index(fields=['at'], name='platform_audit_at_idx'),
        ),
        migrations.AddIndex(
            model_name='auditrecord',
            index=models.Index(fields=['action', 'at'], name='platform_audit_action_at_idx'),
        ),
        migrations.RunSQL(APPEND_ONLY, migrations.RunSQL.noop),
    ]
