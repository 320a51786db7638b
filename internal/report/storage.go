package report

import (
	"context"
	"fmt"

	"github.com/lifeline-backup/lifeline/internal/repo"
)

// bytesPerGB is the decimal gigabyte that storage providers bill by.
const bytesPerGB = 1e9

// Storage is the size of the repository and its estimated cost.
type Storage struct {
	Tiers []TierStorage
	// Other counts the bytes of manifests, data key wraps, key checks,
	// drill results, locks and objects that no backup names.
	Other int64
	// Total counts every object the store lists.
	Total int64
	// MonthlyCost is Total at the report's price, in USD: an estimate
	// that leaves out request and egress charges.
	MonthlyCost float64
}

// TierStorage is the space the backups of one tier take.
type TierStorage struct {
	Tier    repo.Tier
	Backups int
	// Bytes counts the data and index chunks the manifests name.
	Bytes int64
	// MonthlyCost is Bytes at the report's price, in USD.
	MonthlyCost float64
}

func buildStorage(ctx context.Context, r *repo.Repo, snaps []*repo.Snapshot,
	price float64) (Storage, error) {
	var st Storage
	byTier := map[repo.Tier]*TierStorage{}
	for _, t := range tierOrder {
		st.Tiers = append(st.Tiers, TierStorage{Tier: t})
	}
	for i := range st.Tiers {
		byTier[st.Tiers[i].Tier] = &st.Tiers[i]
	}
	var named int64
	for _, s := range snaps {
		ts := byTier[s.Tier]
		if ts == nil {
			continue // a tier this version does not know
		}
		ts.Backups++
		ts.Bytes += s.StoredBytes()
		named += s.StoredBytes()
	}
	for i := range st.Tiers {
		st.Tiers[i].MonthlyCost = cost(st.Tiers[i].Bytes, price)
	}
	for info, err := range r.Store().List(ctx, "") {
		if err != nil {
			return st, fmt.Errorf("list repository objects: %w", err)
		}
		st.Total += info.Size
	}
	st.Other = max(st.Total-named, 0)
	st.MonthlyCost = cost(st.Total, price)
	return st, nil
}

func cost(bytes int64, pricePerGB float64) float64 {
	return float64(bytes) / bytesPerGB * pricePerGB
}
