SELECT substr(t0."closeDate", 1, 7) || '-01' AS "__g0", t0."companyId" AS "__g1", COUNT(*), MAX(CAST(t0."amount__amount" AS REAL))
FROM "ws_golden__opportunity" t0
WHERE t0."deletedAt" IS NULL
GROUP BY 1, 2
ORDER BY 1 ASC NULLS LAST, 2 ASC NULLS LAST
LIMIT 100
