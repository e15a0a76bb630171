-- +goose Up
-- The word indexes by owner and word: a search by several words walks the
-- range of one word and checks the others per company or contact, which
-- these answer from the index alone (the indexes by owner alone visited
-- the table for every word of every candidate). They also serve what the
-- indexes by owner served: deleting a company's or a contact's words, so
-- those go (one index less to keep up on every word written).
CREATE INDEX company_terms_company_term_idx ON company_terms (company_id, term);
CREATE INDEX contact_terms_contact_term_idx ON contact_terms (contact_id, term);
DROP INDEX company_terms_company_idx;
DROP INDEX contact_terms_contact_idx;

-- +goose Down
CREATE INDEX company_terms_company_idx ON company_terms (company_id);
CREATE INDEX contact_terms_contact_idx ON contact_terms (contact_id);
DROP INDEX contact_terms_contact_term_idx;
DROP INDEX company_terms_company_term_idx;
