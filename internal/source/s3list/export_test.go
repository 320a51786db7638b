package s3list

// OmitLastModified makes s leave last_modified out of record values, so
// tests can predict a value before the server stores the object.
func OmitLastModified(s *Source) { s.omitLastModified = true }
