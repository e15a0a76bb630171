-- +goose Up
-- The duplicate engine (internal/duplicate) finds candidates through
-- indexes only. ИНН, the normalised name and the phones and e-mails have
-- theirs already; this adds the ОГРН, the website's domain and, for
-- similar names, a trigram posting table.
--
-- website_domain is dedup.NormalizeWebsite(website), written by the store
-- with every save; existing rows are filled here with the same rule
-- (scheme, path and "www." dropped, lower case), except that a punycode
-- domain is decoded only on the company's next save.
ALTER TABLE companies ADD COLUMN website_domain TEXT NOT NULL DEFAULT '';
UPDATE companies SET website_domain = d.domain FROM (
    SELECT id, CASE WHEN h LIKE 'www.%' THEN substr(h, 5) ELSE h END AS domain FROM (
        SELECT id, substr(p, 1, strpos(p || '/', '/') - 1) AS h FROM (
            SELECT id, CASE WHEN strpos(w, '://') > 0 THEN substr(w, strpos(w, '://') + 3) ELSE w END AS p FROM (
                SELECT id, lower(trim(website)) AS w FROM companies WHERE website <> '') s1) s2) s3) d
WHERE d.id = companies.id AND strpos(d.domain, '.') > 0;
CREATE INDEX companies_ogrn_idx ON companies (ogrn) WHERE deleted_at IS NULL AND ogrn <> '';
CREATE INDEX companies_website_domain_idx ON companies (website_domain) WHERE deleted_at IS NULL AND website_domain <> '';

-- company_trigrams: the trigrams of each company's name_norm, made the
-- way pg_trgm makes them, with ntri, how many the name has (see the
-- SQLite migration of the same name for how it is read and kept). Both
-- databases use it: pg_trgm's GIN index was measured first and, on a
-- million companies whose names repeat, a misspelt name made it recheck
-- 30 000 rows in the heap (1.2–2.9 s a check), where capped, rarest-first
-- ranges of this table's primary key keep a check bounded.
CREATE TABLE company_trigrams (
    trigram    TEXT NOT NULL,
    ntri       INTEGER NOT NULL,
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    PRIMARY KEY (trigram, ntri, company_id)
);
CREATE INDEX company_trigrams_company_idx ON company_trigrams (company_id, trigram);

-- The existing companies' trigrams, made in SQL by the same rule
-- (substr counts characters, not bytes; the empty first word is cut
-- from name_norm so that both terms of the recursion share its collation).
WITH RECURSIVE words(id, word, rest) AS (
    SELECT id, substr(name_norm, 1, 0), name_norm || ' ' FROM companies WHERE name_norm <> ''
    UNION ALL
    SELECT id, substr(rest, 1, strpos(rest, ' ') - 1), substr(rest, strpos(rest, ' ') + 1) FROM words WHERE rest <> ''
), padded(id, s, i) AS (
    SELECT id, '  ' || word || ' ', 1 FROM words WHERE word <> ''
    UNION ALL
    SELECT id, s, i + 1 FROM padded WHERE i + 3 <= length(s)
), grams(id, g) AS (
    SELECT DISTINCT id, substr(s, i, 3) FROM padded WHERE i + 2 <= length(s)
)
INSERT INTO company_trigrams (trigram, ntri, company_id)
SELECT g, COUNT(*) OVER (PARTITION BY id), id FROM grams;

-- +goose Down
DROP TABLE company_trigrams;
DROP INDEX companies_website_domain_idx;
DROP INDEX companies_ogrn_idx;
ALTER TABLE companies DROP COLUMN website_domain;
