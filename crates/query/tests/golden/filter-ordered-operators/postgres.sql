SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden"."vehicle" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."seats" > $1
    AND t0."seats" >= $2
    AND t0."seats" < $3
    AND t0."seats" <= $4)
  AND (t0."weightKg" >= $5)
  AND (t0."engineSize" < $6)
  AND (t0."discountRate" <= $7)
  AND (t0."firstRegistered" >= $8)
  AND (t0."lastServiceAt" < $9)
  AND (t0."condition" >= $10))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = BigInt(Some(2))
-- $2 = BigInt(Some(3))
-- $3 = BigInt(Some(9))
-- $4 = BigInt(Some(8))
-- $5 = Double(Some(1000.5))
-- $6 = Decimal(Some(2.5))
-- $7 = Double(Some(0.2))
-- $8 = ChronoDate(Some(2020-01-01))
-- $9 = ChronoDateTimeUtc(Some(2026-01-01T00:00:00Z))
-- $10 = BigInt(Some(3))
