SELECT t0."id", t0."name", CAST(round(CAST((CAST((CAST(t0."amount__amount" AS REAL) * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS REAL) / NULLIF(100, 0)) AS REAL), 10) AS TEXT), t0."id" AS "__k0"
FROM "ws_golden__opportunity" t0
WHERE t0."deletedAt" IS NULL
AND ((((t0."stage" = ?1))
    OR (((((CAST(t0."amount__amount" AS REAL) > ?2)))
        AND (NOT ((t0."closeDate" IS NULL)))))))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("PROPOSAL"))
-- $2 = Double(Some(10000.0))
