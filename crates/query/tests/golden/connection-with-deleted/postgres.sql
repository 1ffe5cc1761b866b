SELECT t0."id", t0."name", CAST((
    SELECT COALESCE(SUM(c1."amount__amount"), 0)
    FROM "ws_golden"."opportunity" c1
    WHERE c1."companyId" = t0."id"
    AND c1."deletedAt" IS NULL
    AND ((c1."stage" NOT IN ('WON', 'LOST')))) AS numeric), CAST((
    SELECT COALESCE(SUM(c1."amount__amount"), 0)
    FROM "ws_golden"."opportunity" c1
    WHERE c1."companyId" = t0."id"
    AND c1."deletedAt" IS NULL
    AND ((c1."stage" = 'WON'))) AS numeric), t0."id" AS "__k0"
FROM "ws_golden"."company" t0
WHERE 1=1
AND ((t0."deletedAt" IS NOT NULL))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 6
