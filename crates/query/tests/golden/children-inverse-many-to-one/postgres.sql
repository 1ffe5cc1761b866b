SELECT *
FROM (
  SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent"
    ORDER BY s."__k0" ASC NULLS LAST, s."__k1" ASC NULLS LAST) AS "__rn"
  FROM (
    SELECT t0."id", t0."email", t0."email" AS "__k0", t0."id" AS "__k1", t0."companyId" AS "__parent", COUNT(*) OVER (PARTITION BY t0."companyId") AS "__total"
    FROM "ws_golden"."person" t0
    WHERE t0."deletedAt" IS NULL
    AND t0."companyId" = ANY($1)) s) r
WHERE r."__rn" <= 11
ORDER BY r."__parent", r."__rn"
-- $1 = Array(Uuid, Some([Uuid(Some(01900000-0000-7000-8000-000000000001)), Uuid(Some(01900000-0000-7000-8000-000000000002))]))
