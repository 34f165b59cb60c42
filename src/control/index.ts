export * from './autoscaler.ts';
export * from './controller.ts';
export * from './forecast.ts';
export * from './pidController.ts';
