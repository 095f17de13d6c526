from django.db import migrations

# Several audit records chained in one statement, in the order given (``audit.deferred()``): the
# lock is taken once, the previous hash read once, and each record's hash computed as in
# ``platform_audit_append``. Each element carries the record's fields and the two cuts of its
# canonical JSON (``head``, ``middle``); the result gives (ord, id, prev_hash, hash) per element.
SQL = """
CREATE OR REPLACE FUNCTION platform_audit_append_many(p_records jsonb)
RETURNS TABLE (ord integer, new_id bigint, new_prev_hash varchar, new_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_prev varchar;
  v_id bigint;
  v_hash varchar;
  e jsonb;
  i integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7301001);
  SELECT r.hash INTO v_prev FROM platform_auditrecord r ORDER BY r.id DESC LIMIT 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  FOR e IN SELECT value FROM jsonb_array_elements(p_records) WITH ORDINALITY ORDER BY ordinality LOOP
    v_id := nextval(pg_get_serial_sequence('platform_auditrecord', 'id'));
    v_hash := encode(sha256(convert_to((e->>'head') || v_id::text || (e->>'middle') || v_prev || '"}', 'UTF8')),
                     'hex');
    INSERT INTO platform_auditrecord (id, at, actor_id, actor_name, action, object_type, object_id, object_repr,
                                      before, after, prev_hash, hash)
    VALUES (v_id, (e->>'at')::timestamptz, (e->>'actor_id')::bigint, e->>'actor_name', e->>'action',
            e->>'object_type', e->>'object_id', e->>'object_repr',
            CASE WHEN jsonb_typeof(e->'before') = 'null' THEN NULL ELSE e->'before' END,
            CASE WHEN jsonb_typeof(e->'after') = 'null' THEN NULL ELSE e->'after' END,
            v_prev, v_hash);
    ord := i;
    new_id := v_id;
    new_prev_hash := v_prev;
    new_hash := v_hash;
    RETURN NEXT;
    v_prev := v_hash;
    i := i + 1;
  END LOOP;
END;
$$;
"""

REVERSE = "DROP FUNCTION IF EXISTS platform_audit_append_many(jsonb);"


class Migration(migrations.Migration):
    dependencies = [("platform", "0004_audit_append_function")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
