-- Superseded versions of corrected rows: the old row exactly as it was, plus
-- when and by which batch it was replaced. A correction never deletes data.
CREATE TABLE institutions_history    AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM institutions LIMIT 0;
CREATE TABLE persons_history         AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM persons LIMIT 0;
CREATE TABLE catalog_history         AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM catalog LIMIT 0;
CREATE TABLE registrations_history   AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM registrations LIMIT 0;
CREATE TABLE settlements_history     AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM settlements LIMIT 0;
CREATE TABLE fee_items_history       AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM fee_items LIMIT 0;
CREATE TABLE card_swipes_history     AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM card_swipes LIMIT 0;
CREATE TABLE stock_movements_history AS SELECT *, NULL::TIMESTAMP AS superseded_at, NULL::VARCHAR AS superseded_by FROM stock_movements LIMIT 0;
