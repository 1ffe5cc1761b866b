SELECT t0."id", t0."name", CAST(round(CAST((
        SELECT COALESCE(SUM(CAST(c1."amount__amount" AS REAL)), 0)
        FROM "ws_golden__opportunity" c1
        WHERE c1."companyId" = t0."id"
        AND c1."deletedAt" IS NULL
        AND ((c1."stage" NOT IN ('WON', 'LOST')))) AS REAL), 10) AS TEXT), CAST(round(CAST((
        SELECT COALESCE(SUM(CAST(c1."amount__amount" AS REAL)), 0)
        FROM "ws_golden__opportunity" c1
        WHERE c1."companyId" = t0."id"
        AND c1."deletedAt" IS NULL
        AND ((c1."stage" = 'WON'))) AS REAL), 10) AS TEXT), t0."name" AS "__k0", t0."id" AS "__k1"
FROM "ws_golden__company" t0
WHERE t0."deletedAt" IS NULL
AND (((t0."name" < ?1))
  OR (t0."name" = ?2
    AND (t0."id" < ?3)))
ORDER BY t0."name" DESC NULLS FIRST, t0."id" DESC NULLS FIRST
LIMIT 21
-- $1 = String(Some("Acme"))
-- $2 = String(Some("Acme"))
-- $3 = String(Some("01900000-0000-7000-8000-000000000001"))
