package auth

// Throttle limits sign-in attempts. (Skeleton: to be filled in.)
type Throttle struct{}

// NewThrottle returns an empty Throttle.
func NewThrottle() *Throttle { return &Throttle{} }
