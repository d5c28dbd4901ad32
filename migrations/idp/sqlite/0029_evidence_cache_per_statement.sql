-- PostgreSQL logs an evidence insert's invalidations once per account and
-- statement (a statement trigger over the new rows). SQLite has row
-- triggers only, and one writer: its trigger of 0027 stays.
SELECT 1;
