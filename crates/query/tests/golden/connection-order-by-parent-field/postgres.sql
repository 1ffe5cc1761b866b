SELECT t0."id", t0."email", (
  SELECT o1."name"
  FROM "ws_golden"."company" o1
  WHERE o1."id" = t0."companyId"
  AND o1."deletedAt" IS NULL) AS "__k0", t0."id" AS "__k1"
FROM "ws_golden"."person" t0
WHERE t0."deletedAt" IS NULL
ORDER BY (
  SELECT o1."name"
  FROM "ws_golden"."company" o1
  WHERE o1."id" = t0."companyId"
  AND o1."deletedAt" IS NULL) DESC NULLS FIRST, t0."id" ASC NULLS LAST
LIMIT 11
