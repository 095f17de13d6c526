from django.db import migrations

# One round trip per audit record: the chain's lock, the previous hash, the id and the row in one
# function call. The caller sends the canonical JSON of the record cut around the two values only
# the database knows (the id and the previous hash), so the hash is exactly the one
# ``fmis.platform.audit.compute_hash`` recomputes. A VOLATILE plpgsql function takes a new snapshot
# for each statement, so the previous hash is read after the lock is held and sees the last
# record committed by the lock's previous holder.
SQL = """
CREATE OR REPLACE FUNCTION platform_audit_append(
    p_at timestamptz, p_actor_id bigint, p_actor_name varchar, p_action varchar, p_object_type varchar,
    p_object_id varchar, p_object_repr varchar, p_before jsonb, p_after jsonb,
    p_head text, p_middle text)
RETURNS TABLE (new_id bigint, new_prev_hash varchar, new_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_id bigint;
  v_prev varchar;
  v_hash varchar;
BEGIN
  PERFORM pg_advisory_xact_lock(7301001);
  SELECT r.hash INTO v_prev FROM platform_auditrecord r ORDER BY r.id DESC LIMIT 1;
  v_prev := coalesce(v_prev, repeat('0', 64));
  v_id := nextval(pg_get_serial_sequence('platform_auditrecord', 'id'));
  v_hash := encode(sha256(convert_to(p_head || v_id::text || p_middle || v_prev || '"}', 'UTF8')), 'hex');
  INSERT INTO platform_auditrecord (id, at, actor_id, actor_name, action, object_type, object_id, object_repr,
                                    before, after, prev_hash, hash)
  VALUES (v_id, p_at, p_actor_id, p_actor_name, p_action, p_object_type, p_object_id, p_object_repr,
          p_before, p_after, v_prev, v_hash);
  new_id := v_id;
  new_prev_hash := v_prev;
  new_hash := v_hash;
  RETURN NEXT;
END;
$$;
"""

REVERSE = """
DROP FUNCTION IF EXISTS platform_audit_append(timestamptz, bigint, varchar, varchar, varchar, varchar, varchar,
                                              jsonb, jsonb, text, text);
"""


class Migration(migrations.Migration):
    dependencies = [("platform", "0003_outbox_backoff_audit_indexes")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
