SELECT t0."id", t0."name", CAST((CAST((t0."amount__amount" * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS numeric) / NULLIF(100, 0)) AS numeric), t0."id" AS "__k0"
FROM "ws_golden"."opportunity" t0
WHERE t0."deletedAt" IS NULL
AND ((((t0."stage" = $1))
    OR (((((t0."amount__amount" > $2)))
        AND (NOT ((t0."closeDate" IS NULL)))))))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("PROPOSAL"))
-- $2 = Decimal(Some(10000))
