-- One region's 指标完成情况表, as plans publish it (change the region name, or filter on region_code).
SELECT "类型", "指标", "单位", "基数", "目标值", "最新值", "完成进度", "时间进度", "属性", "状态",
       "基数年份", "目标年份", "最新值年份"
FROM v_evaluation_table
WHERE "地区" = '张家港市';
