-- What the sieve's statistics of a run depend on, cheap to compute: rows, content, conflict
-- marks and decoded payloads. Statistics kept from an earlier pass are used only while it holds.
-- DuckDB only: Spark keeps no statistics between checks.
SELECT run_id, md5(concat_ws('|', count(*), fx_content_x(content_hash), count(*) FILTER (WHERE conflict),
                             count(*) FILTER (WHERE staged), count(payload_decoded))) AS stats_key
FROM events {where}
GROUP BY run_id
