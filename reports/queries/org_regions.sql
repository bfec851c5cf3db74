-- Every institution's district (region code).
SELECT org_code, region_code FROM institutions ORDER BY org_code;
