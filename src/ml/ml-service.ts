/** Native ML resources that live in flowd (placeholder: filled by the ML module). */
export interface MlService {
  readonly kind: 'ml';
}
