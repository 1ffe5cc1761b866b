SELECT t0."id", t0."companyId", t0."amount__amount", t0."amount__currencyCode", t0."id" AS "__k0"
FROM "ws_golden__opportunity" t0
WHERE t0."deletedAt" IS NULL
ORDER BY t0."id" ASC NULLS LAST
LIMIT 6
