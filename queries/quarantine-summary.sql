-- name: quarantine-summary
-- title: What could not be imported
-- description: Quarantined records grouped by import and reason, with one example location each.
SELECT q.import_id,
       i.source_kind,
       i.location AS source,
       q.reason,
       count(*) AS records,
       min(q.location || coalesce(' @ ' || q.position, '')) AS example
FROM quarantine q
LEFT JOIN imports i ON i.import_id = q.import_id
GROUP BY q.import_id, i.source_kind, i.location, q.reason
ORDER BY q.import_id DESC, records DESC;
