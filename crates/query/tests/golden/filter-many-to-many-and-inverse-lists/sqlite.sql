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
        AND ((c1."stage" = 'WON'))) AS REAL), 10) AS TEXT), t0."id" AS "__k0"
FROM "ws_golden__company" t0
WHERE t0."deletedAt" IS NULL
AND ((EXISTS (
      SELECT 1
      FROM "ws_golden__person" f1
      WHERE f1."companyId" = t0."id"
      AND f1."deletedAt" IS NULL
      AND ((f1."email" LIKE ?1 ESCAPE '\'))))
  AND (NOT EXISTS (
      SELECT 1
      FROM "ws_golden__opportunity" f2
      WHERE f2."companyId" = t0."id"
      AND f2."deletedAt" IS NULL
      AND ((f2."stage" = ?2))))
  AND (NOT EXISTS (
      SELECT 1
      FROM "ws_golden__vehicle" f3
      JOIN "ws_golden__vehicle__servicedBy" f4 ON f4."sourceId" = f3."id"
      WHERE f4."targetId" = t0."id"
      AND f3."deletedAt" IS NULL
      AND NOT ((f3."electric" = ?3)))))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("%@acme.example"))
-- $2 = String(Some("CLOSED_LOST"))
-- $3 = Bool(Some(true))
