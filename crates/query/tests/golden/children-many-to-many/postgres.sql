SELECT *
FROM (
  SELECT s.*, (1=1) AS "__after", ROW_NUMBER() OVER (PARTITION BY s."__parent"
    ORDER BY s."__k0" ASC NULLS LAST) AS "__rn"
  FROM (
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
        AND ((c1."stage" = 'WON'))) AS numeric), t0."id" AS "__k0", j."sourceId" AS "__parent", COUNT(*) OVER (PARTITION BY j."sourceId") AS "__total"
    FROM "ws_golden"."company" t0
    JOIN "ws_golden"."vehicle__servicedBy" j ON j."targetId" = t0."id"
    WHERE t0."deletedAt" IS NULL
    AND j."sourceId" = ANY($1)) s) r
WHERE r."__rn" <= 4
ORDER BY r."__parent", r."__rn"
-- $1 = Array(Uuid, Some([Uuid(Some(01900000-0000-7000-8000-000000000001)), Uuid(Some(01900000-0000-7000-8000-000000000002))]))
