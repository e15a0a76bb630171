-- +goose Up
-- The duplicate engine (internal/duplicate) finds candidates through
-- indexes only. ИНН, the normalised name and the phones and e-mails have
-- theirs already; this adds the ОГРН, the website's domain and, for
-- similar names, pg_trgm's GIN index on the live companies' name_norm.
--
-- website_domain is dedup.NormalizeWebsite(website), written by the store
-- with every save; existing rows are filled here with the same rule
-- (scheme, path and "www." dropped, lower case), except that a punycode
-- domain is decoded only on the company's next save.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE companies ADD COLUMN website_domain TEXT NOT NULL DEFAULT '';
UPDATE companies SET website_domain = d.domain FROM (
    SELECT id, CASE WHEN h LIKE 'www.%' THEN substr(h, 5) ELSE h END AS domain FROM (
        SELECT id, substr(p, 1, strpos(p || '/', '/') - 1) AS h FROM (
            SELECT id, CASE WHEN strpos(w, '://') > 0 THEN substr(w, strpos(w, '://') + 3) ELSE w END AS p FROM (
                SELECT id, lower(trim(website)) AS w FROM companies WHERE website <> '') s1) s2) s3) d
WHERE d.id = companies.id AND strpos(d.domain, '.') > 0;
CREATE INDEX companies_ogrn_idx ON companies (ogrn) WHERE deleted_at IS NULL AND ogrn <> '';
CREATE INDEX companies_website_domain_idx ON companies (website_domain) WHERE deleted_at IS NULL AND website_domain <> '';
CREATE INDEX companies_name_trgm_idx ON companies USING gin (name_norm gin_trgm_ops) WHERE deleted_at IS NULL;

-- SQLite's trigram posting table (see the SQLite migration). It exists
-- here so both dialects keep one schema, and stays empty: the GIN index
-- above answers similar-name searches on PostgreSQL.
CREATE TABLE company_trigrams (
    trigram    TEXT NOT NULL,
    ntri       INTEGER NOT NULL,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, company_id)
);
CREATE INDEX company_trigrams_company_idx ON company_trigrams (company_id, trigram);

-- +goose Down
DROP TABLE company_trigrams;
DROP INDEX companies_name_trgm_idx;
DROP INDEX companies_website_domain_idx;
DROP INDEX companies_ogrn_idx;
ALTER TABLE companies DROP COLUMN website_domain;
