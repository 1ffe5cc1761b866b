SELECT COUNT(*)
FROM "ws_golden__person" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."emailOptOut" = ?1))
AND (lower(t0."name__firstName") LIKE ?2 ESCAPE '\'
  OR lower(t0."name__lastName") LIKE ?3 ESCAPE '\'
  OR lower(t0."email") LIKE ?4 ESCAPE '\')
-- $1 = Bool(Some(false))
-- $2 = String(Some("%acme%"))
-- $3 = String(Some("%acme%"))
-- $4 = String(Some("%acme%"))
