package account

// FailingBatches makes every transaction of more than one record fail, as
// a contact taken by another writer between look-up and insert would.
func FailingBatches(o ImportOptions) ImportOptions {
	o.failBatch = true
	return o
}

// CheckImportRecord is Import's validation of one record.
func CheckImportRecord(a *Admin, rec ImportRecord) []ImportProblem {
	ps, _ := checkRecord(rec, a.Policy, a.Now())
	return ps
}
