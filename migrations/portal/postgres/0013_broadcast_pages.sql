-- The pages of a broadcast whose sending is done: a page is counted into
-- portal_broadcasts.done once, whichever run of its job gets there first.
CREATE TABLE portal_broadcast_pages (
    broadcast_id TEXT NOT NULL,
    page_to      TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, page_to)
);
