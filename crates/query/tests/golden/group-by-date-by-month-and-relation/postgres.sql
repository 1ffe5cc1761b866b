SELECT to_char(date_trunc('month', t0."closeDate"), 'YYYY-MM-DD') AS "__g0", t0."companyId" AS "__g1", COUNT(*), MAX(t0."amount__amount")
FROM "ws_golden"."opportunity" t0
WHERE t0."deletedAt" IS NULL
GROUP BY 1, 2
ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST
LIMIT 100
