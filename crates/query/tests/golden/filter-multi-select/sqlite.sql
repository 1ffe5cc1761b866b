SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden__vehicle" t0
WHERE t0."deletedAt" IS NULL
AND (((EXISTS (
        SELECT 1
        FROM json_each(t0."features")
        WHERE value = ?1)
      OR EXISTS (
        SELECT 1
        FROM json_each(t0."features")
        WHERE value = ?2))
    AND (EXISTS (
        SELECT 1
        FROM json_each(t0."features")
        WHERE value = ?3)))
  AND (((NOT (t0."features" IS NULL
          OR json_array_length(t0."features") = 0)))))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("GPS"))
-- $2 = String(Some("SUNROOF"))
-- $3 = String(Some("GPS"))
