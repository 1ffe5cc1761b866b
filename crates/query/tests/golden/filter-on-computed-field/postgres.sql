SELECT t0."id", t0."name", CAST((CAST((t0."amount__amount" * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS numeric) / NULLIF(100, 0)) AS numeric), t0."id" AS "__k0"
FROM "ws_golden"."opportunity" t0
WHERE t0."deletedAt" IS NULL
AND ((CAST((CAST((t0."amount__amount" * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS numeric) / NULLIF(100, 0)) AS numeric) > $1))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = Decimal(Some(500))
