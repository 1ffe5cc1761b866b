SELECT t0."id", t0."createdAt", t0."updatedAt", t0."deletedAt", t0."version", t0."ownerId", t0."createdBy", t0."plate", t0."notes", t0."spec", t0."contactEmail", t0."hotline", t0."manual", t0."seats", t0."weightKg", t0."discountRate", t0."engineSize", t0."price__amount", t0."price__currencyCode", t0."electric", t0."firstRegistered", t0."lastServiceAt", t0."color", t0."features", t0."condition", t0."extras", t0."garage__street1", t0."garage__street2", t0."garage__city", t0."garage__state", t0."garage__postcode", t0."garage__country", t0."garage__latitude", t0."garage__longitude", t0."driver__firstName", t0."driver__lastName", t0."companyId", t0."lessorId", t0."relatedObject", t0."relatedId", t0."id" AS "__k0"
FROM "ws_golden"."vehicle" t0
WHERE t0."deletedAt" IS NULL
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
