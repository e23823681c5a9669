package stats

import "civitas/internal/web"

// Mount serves the indicators' API, open data and the dashboards.
func (s *Service) Mount(ws *web.Server) error {
	s.mountAPI(ws)
	return nil
}
