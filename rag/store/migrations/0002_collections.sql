-- Issue #14: every document belongs to a collection (default "chung", readable by every account);
-- searches restricted to the collections a user may read filter on this column.
ALTER TABLE documents ADD COLUMN collection text NOT NULL DEFAULT 'chung';
UPDATE documents SET collection = coalesce(record->>'collection', 'chung');
CREATE INDEX documents_collection ON documents (collection);
