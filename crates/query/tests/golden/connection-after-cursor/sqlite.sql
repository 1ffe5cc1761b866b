SELECT t0."id", t0."name", t0."closeDate", CAST(round(CAST((CAST((CAST(t0."amount__amount" AS REAL) * CASE t0."stage" WHEN 'NEW' THEN 10 WHEN 'QUALIFIED' THEN 25 WHEN 'PROPOSAL' THEN 50 WHEN 'NEGOTIATION' THEN 75 WHEN 'WON' THEN 100 WHEN 'LOST' THEN 0 END) AS REAL) / NULLIF(100, 0)) AS REAL), 10) AS TEXT), t0."closeDate" AS "__k0", t0."id" AS "__k1"
FROM "ws_golden__opportunity" t0
WHERE t0."deletedAt" IS NULL
AND (((t0."closeDate" < ?1
      OR t0."closeDate" IS NULL))
  OR (t0."closeDate" = ?2
    AND (t0."id" > ?3
      OR t0."id" IS NULL)))
ORDER BY t0."closeDate" DESC NULLS LAST, t0."id" ASC NULLS LAST
LIMIT 21
-- $1 = String(Some("2026-01-31"))
-- $2 = String(Some("2026-01-31"))
-- $3 = String(Some("01900000-0000-7000-8000-000000000001"))
