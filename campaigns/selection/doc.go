// Package selection resolves a campaign's targets (spec.Targets) into the
// repositories the campaign changes, and says why every other candidate
// was left out.
//
// GitHub requests are the scarce resource (DESIGN.md §9), so selection
// works in few, large GraphQL documents:
//
//   - the search query runs as GraphQL search(type: REPOSITORY) fetching
//     every field selection needs (archived, fork, topics, default branch
//     head, and the require.files checks as object(expression:) aliases) in
//     the same page, so search results need no second round trip;
//   - GitHub returns at most 1,000 results per search, so a larger query is
//     split into created: date ranges, bisected with repositoryCount until
//     each part fits; pages of several parts share one document;
//   - explicitly listed repositories are fetched in batches of aliased
//     repository(owner:, name:) fields; one that does not exist or that the
//     installation cannot see is an exclusion, not an error;
//   - results are cached in PostgreSQL (selection_cache) under a hash of the
//     installation and the normalised targets, so a second plan within the
//     TTL costs no GitHub request.
//
// See docs/adrs/ADR-20261127-target-selection.md.
package selection
