SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden__vehicle" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."plate" = ?1
    AND t0."plate" <> ?2
    AND t0."plate" IN (?3, ?4)
    AND t0."plate" NOT IN (?5)
    AND t0."plate" LIKE ?6 ESCAPE '\'
    AND lower(t0."plate") LIKE lower(?7) ESCAPE '\'
    AND t0."plate" LIKE ?8 ESCAPE '\'
    AND t0."plate" LIKE ?9 ESCAPE '\'
    AND t0."plate" LIKE ?10 ESCAPE '\'
    AND t0."plate" IS NOT NULL))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("AB-12"))
-- $2 = String(Some("X"))
-- $3 = String(Some("A"))
-- $4 = String(Some("B"))
-- $5 = String(Some("C"))
-- $6 = String(Some("AB%"))
-- $7 = String(Some("ab%"))
-- $8 = String(Some("A\\_%"))
-- $9 = String(Some("%9\\%"))
-- $10 = String(Some("%\\\\x%"))
