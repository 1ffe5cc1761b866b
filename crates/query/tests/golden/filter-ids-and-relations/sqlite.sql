SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden__vehicle" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."id" IN (?1, ?2))
  AND (t0."companyId" = ?3)
  AND EXISTS (
    SELECT 1
    FROM "ws_golden__company" f1
    WHERE f1."id" = t0."companyId"
    AND f1."deletedAt" IS NULL
    AND ((f1."name" = ?4)
      AND EXISTS (
        SELECT 1
        FROM "ws_golden__company" f2
        WHERE f2."id" = f1."parentCompanyId"
        AND f2."deletedAt" IS NULL
        AND ((f2."name" LIKE ?5 ESCAPE '\')))))
  AND (t0."relatedObject" = ?6)
  AND (t0."relatedId" = ?7))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("01900000-0000-7000-8000-000000000001"))
-- $2 = String(Some("01900000-0000-7000-8000-000000000002"))
-- $3 = String(Some("01900000-0000-7000-8000-000000000001"))
-- $4 = String(Some("Acme"))
-- $5 = String(Some("Big%"))
-- $6 = String(Some("company"))
-- $7 = String(Some("01900000-0000-7000-8000-000000000002"))
