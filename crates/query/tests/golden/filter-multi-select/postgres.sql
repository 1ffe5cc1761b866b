SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden"."vehicle" t0
WHERE t0."deletedAt" IS NULL
AND (((t0."features" @> $1
      OR t0."features" @> $2)
    AND (t0."features" @> $3))
  AND (((NOT (t0."features" IS NULL
          OR jsonb_array_length(t0."features") = 0)))))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = Json(Some(Array [String("GPS")]))
-- $2 = Json(Some(Array [String("SUNROOF")]))
-- $3 = Json(Some(Array [String("GPS")]))
