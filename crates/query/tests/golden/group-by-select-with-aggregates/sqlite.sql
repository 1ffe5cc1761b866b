SELECT t0."stage" AS "__g0", COUNT(*), SUM(CAST(t0."amount__amount" AS REAL)), AVG(CAST(t0."amount__amount" AS REAL))
FROM "ws_golden__opportunity" t0
WHERE t0."deletedAt" IS NULL
AND (((CAST(t0."amount__amount" AS REAL) > ?1)))
GROUP BY 1
ORDER BY CASE t0."stage" WHEN 'NEW' THEN 0 WHEN 'QUALIFIED' THEN 1 WHEN 'PROPOSAL' THEN 2 WHEN 'NEGOTIATION' THEN 3 WHEN 'WON' THEN 4 WHEN 'LOST' THEN 5 END ASC NULLS LAST
LIMIT 50
-- $1 = Double(Some(0.0))
