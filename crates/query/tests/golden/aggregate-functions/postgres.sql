SELECT COUNT(*), SUM(t0."amount__amount"), AVG(t0."amount__amount"), MIN(t0."closeDate"), MAX(t0."closeDate"), COUNT(DISTINCT t0."companyId")
FROM "ws_golden"."opportunity" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."stage" IN ($1, $2)))
-- $1 = String(Some("PROPOSAL"))
-- $2 = String(Some("NEGOTIATION"))
